"""The microvisor: cages, their lifecycle, and the bridge to the C data plane (native/)."""
