"""3i on the Python side.

`table` parses native/sys/syscalls.def, the one list of the calls the microvisor knows (number,
Linux name, handler, family, support status and a note), which C expands into its handler table;
and it renders docs/syscalls.md from it (`python -m lind_aot.threei.table --write`).
`grates` stacks grates below which a program runs (`lind run --grate`, `Sandbox(grates=...)`): the
start-up the API and the command line share. `routes` reads which calls of a live cage go to which
grate, for debugging. The grate runtime itself (worker instances, calls into grates, calls on
behalf of a cage) is C: native/threei/ and native/kern/grate.c.
"""
