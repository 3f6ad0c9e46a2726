//! The module database: kmod's index files (text and `.bin`), depmod, modprobe.d and
//! modprobe's resolution. Not yet written.
