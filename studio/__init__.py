"""IFVC Studio (``ifvc-studio``): edit a face video's semantics live in the browser.

``session`` gives random access to the frames ``ifvc-decode --edit`` outputs, ``app`` is the
web application (Starlette, WebSocket previews), ``jobs`` encodes a video on the spot, ``cli``
the command, ``headless`` drives it from headless Chromium (tests, benchmark, screenshot).
"""
