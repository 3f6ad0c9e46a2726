//! Error numbers with their C names and the C library's messages.

use std::fmt;

/// An errno value as the kernel returned it (positive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

/// The names of the errnos module loading and unloading can give (asm-generic/errno*.h).
const NAMES: &[(i32, &str)] = &[
    (libc::EPERM, "EPERM"),
    (libc::ENOENT, "ENOENT"),
    (libc::ESRCH, "ESRCH"),
    (libc::EINTR, "EINTR"),
    (libc::EIO, "EIO"),
    (libc::ENOEXEC, "ENOEXEC"),
    (libc::EBADF, "EBADF"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::EACCES, "EACCES"),
    (libc::EFAULT, "EFAULT"),
    (libc::EBUSY, "EBUSY"),
    (libc::EEXIST, "EEXIST"),
    (libc::ENODEV, "ENODEV"),
    (libc::EINVAL, "EINVAL"),
    (libc::ENOSPC, "ENOSPC"),
    (libc::ENOSYS, "ENOSYS"),
    (libc::ENODATA, "ENODATA"),
    (libc::ENOPKG, "ENOPKG"),
    (libc::EBADMSG, "EBADMSG"),
    (libc::EOVERFLOW, "EOVERFLOW"),
    (libc::EOPNOTSUPP, "EOPNOTSUPP"),
    (libc::ETXTBSY, "ETXTBSY"),
    (libc::ENOKEY, "ENOKEY"),
    (libc::EKEYEXPIRED, "EKEYEXPIRED"),
    (libc::EKEYREVOKED, "EKEYREVOKED"),
    (libc::EKEYREJECTED, "EKEYREJECTED"),
    (libc::EMSGSIZE, "EMSGSIZE"),
];

impl Errno {
    /// The last error of the calling thread.
    pub fn last() -> Errno {
        Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// The C name (`EKEYREJECTED`), or `E<number>` for one this table lacks.
    pub fn name(self) -> String {
        NAMES
            .iter()
            .find(|(n, _)| *n == self.0)
            .map(|(_, s)| s.to_string())
            .unwrap_or_else(|| format!("E{}", self.0))
    }

    /// Parses a C name back (`EKEYREJECTED` -> 129).
    pub fn from_name(name: &str) -> Option<Errno> {
        NAMES
            .iter()
            .find(|(_, s)| *s == name)
            .map(|(n, _)| Errno(*n))
    }

    /// The C library's message, as `strerror` gives it ("Key was rejected by service").
    pub fn message(self) -> String {
        let s = std::io::Error::from_raw_os_error(self.0).to_string();
        // std appends " (os error N)" to strerror's text.
        match s.rfind(" (os error ") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages() {
        let e = Errno(libc::EKEYREJECTED);
        assert_eq!(e.name(), "EKEYREJECTED");
        assert_eq!(e.message(), "Key was rejected by service");
        assert_eq!(Errno::from_name("ENOEXEC"), Some(Errno(libc::ENOEXEC)));
        assert_eq!(Errno(4000).name(), "E4000");
    }
}
