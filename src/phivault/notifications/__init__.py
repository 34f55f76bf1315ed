"""Notices to members (the privacy office first): IDs only, never PHI."""
