"""Server-rendered web pages (Jinja2 and a few small scripts of our own), every asset served
by phivault itself."""
