"""`zoohub serve`: the registry and its blob store behind HTTP (FastAPI on uvicorn).

    app.py       the routes: models, resolve, blobs (Range, ETag = sha256), publish, promote
    settings.py  what an operator configures (read access, upload limit, request rate)
    guards.py    the ASGI middlewares that refuse `../` and limit the request rate
    ranges.py    HTTP Range headers
    wire.py      the JSON form of the hub's records, shared with the client (hub.remote)
"""
