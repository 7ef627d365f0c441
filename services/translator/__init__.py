"""kernelwright.translator."""
