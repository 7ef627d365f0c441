"""kernelwright.converter."""
