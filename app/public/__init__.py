"""The public archive (HTML by city, EN/FA) and what it shares with the partner API.

Only published clips exist here; retracted ones exist as a notice. Everything else is a 404.
"""
