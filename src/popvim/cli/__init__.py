"""The ``pop`` command line."""

import os

# gRPC's core logs TLS handshake failures on stderr by itself; `pop` reports every failure
# as one line of its own, so keep the core to errors unless the user asks for more.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
