"""Socket: advertisement records (contract 1) written by local programs to a Unix or TCP socket."""

from hub.integrations import Integration
from integrations.socket.settings import SocketSettings
from integrations.socket.source import SocketSource

INTEGRATION = Integration(
    name="socket",
    kind="source",
    description="JSON lines of advertisement records from any number of clients on a socket",
    settings=SocketSettings,
    create_source=SocketSource.create,
)
