"""gunicorn settings read from the project directory (gunicorn loads ./gunicorn.conf.py by
default; command-line flags still win).

The request-size limits below are enforced by gunicorn before Django sees the request,
so what answers them is gunicorn's own plain-text `400 Bad Request`, not the API's JSON:
a proxy in front should refuse such requests first (nginx: `large_client_header_buffers
4 8k;` matches these defaults and answers 414/400 itself). Values are gunicorn's
defaults, made explicit and settable from the environment.
"""

import os

# Longest request line (method + URL + version), bytes. Longer → 400 "Request Line is too large".
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "4094"))
# Most header fields per request. More → 400 "Too many headers".
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS", "100"))
# Longest header field (name + value), bytes. Longer → 400 "Request Header Fields Too Large".
limit_request_field_size = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", "8190"))
