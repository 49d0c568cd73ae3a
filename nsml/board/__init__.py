"""``nsml board``: a local web board over the platform's SQLite records, read-only, offline, live.

``reader`` asks the store (read-only, paginated), ``charts`` and ``curves`` draw metrics as server-side SVG,
``utterances`` aligns a submission's transcripts, ``session_view`` gathers a session page, ``pages`` holds the
routes, ``app`` builds the Flask application and ``server`` serves it. Flask is an optional dependency (the
``board`` extra): nothing here is imported by ``import nsml`` or by other verbs.
"""
