"""lind-aot: run untrusted C programs, compiled to WebAssembly, as cages inside one host process."""

__version__ = "0.1.0"
