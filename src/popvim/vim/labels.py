"""Engine labels that mark what popvim owns, so reconciliation can find it."""

LABEL_POP = "io.popvim.pop"  # the PoP name: several PoPs may share one engine
LABEL_INSTALL = "io.popvim.install"  # the install (state dir) that made it: only that one removes it
LABEL_ID = "io.popvim.id"  # the Pop container id on an engine container
LABEL_NETWORK = "io.popvim.network"  # the Pop network id on an engine network
