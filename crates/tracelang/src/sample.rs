//! A fixed, made-up system for analysing scripts without one: two tracepoints whose format
//! is a real one (`syscalls:sys_enter_read` as a 6.x kernel's tracefs describes it), no
//! kprobes, and every uprobe target accepted. Used by [`crate::fuzz_one`] and the tests.

use crate::sema::{wildcard_match, Env};
use crate::types::{parse_tp_format, TpField};

/// `syscalls:sys_enter_read`'s format file, as tracefs prints it.
pub const READ_FORMAT: &str = "name: sys_enter_read
ID: 842
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:char * buf;\toffset:24;\tsize:8;\tsigned:0;
\tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;

print fmt: \"fd: 0x%08lx\"
";

/// See the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct SampleEnv;

impl Env for SampleEnv {
    fn tracepoints(&self, c: &str, n: &str) -> Result<Vec<(String, String)>, String> {
        let all = [
            ("syscalls", "sys_enter_read"),
            ("syscalls", "sys_enter_readahead"),
        ];
        Ok(all
            .iter()
            .filter(|(ac, an)| wildcard_match(c, ac) && wildcard_match(n, an))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect())
    }
    fn tracepoint_format(&self, _c: &str, _n: &str) -> Result<Vec<TpField>, String> {
        Ok(parse_tp_format(READ_FORMAT))
    }
    fn kprobes_available(&self) -> bool {
        false
    }
    fn uprobe_target(&self, _path: &str, _symbol: &str) -> Result<(), String> {
        Ok(())
    }
}
