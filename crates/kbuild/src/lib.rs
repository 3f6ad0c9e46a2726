//! Out-of-tree module skeletons, Kbuild runs and a DKMS-compatible lifecycle. Not yet written.
