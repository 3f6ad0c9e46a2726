//! modprobe.d configuration (libkmod-config.c): `alias`, `options`, `install`, `remove`,
//! `blacklist`, `softdep`, plus `modprobe.blacklist=` and `module.param=` from the kernel
//! command line.

/// One `softdep` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Softdep {
    pub name: String,
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

/// Where a configuration entry came from (file and line), for `--explain`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

/// A parsed configuration, lists in the order libkmod keeps them.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `(pattern, module)`.
    pub aliases: Vec<(String, String, Origin)>,
    /// `(module, options)`.
    pub options: Vec<(String, String, Origin)>,
    /// `(module, command)`.
    pub install: Vec<(String, String, Origin)>,
    pub remove: Vec<(String, String, Origin)>,
    pub blacklist: Vec<String>,
    pub softdeps: Vec<Softdep>,
}
