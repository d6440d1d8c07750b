"""3i on the Python side: the system-call table as data.

`table` parses native/syscalls.def, the one list of the calls the microvisor knows (number, Linux
name, handler, family, support status and a note), which C expands into its handler table; and it
renders docs/syscalls.md from it (`python -m lind_aot.threei.table --write`). The grate runtime
itself (worker pools, calls on behalf of a cage) is C: native/threei.c.
"""
