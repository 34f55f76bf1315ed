"""Server-rendered web pages (Jinja2 + htmx), every asset served by phivault itself."""
