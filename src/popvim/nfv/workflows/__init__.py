"""The four lifecycle workflows, one module each; what they share is in :mod:`.context`.

Each module has a ``check`` (may the operation start, given the instance as it is: run
under the operation runner's lock) and a ``run`` (the work, in the background).
"""
