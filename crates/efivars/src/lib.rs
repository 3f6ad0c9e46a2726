//! EFI signature lists and edk2 varstores. Not yet written.
