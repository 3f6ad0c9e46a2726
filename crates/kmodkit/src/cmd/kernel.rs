//! `kmodkit kernel build --rust`: a Rust-enabled kernel to build modules against and to boot
//! under `kmodkit vm` (the work is in `kbuild::kernel`; this parses, shows progress and
//! prints where things are).

use anyhow::Context;
use clap::{Parser, Subcommand};
use kbuild::kernel::{self, Progress, Request};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Outcome;

#[derive(Parser)]
#[command(
    name = "kmodkit kernel",
    about = "Build kernels to develop modules against",
    after_help = "The kernel is built once per machine: it is cached under \
$KMODKIT_CACHE (default ~/.cache/kmodkit)/rust-kernel by source version, configuration and \
toolchain, and a second call returns at once."
)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Subcommand)]
enum Sub {
    /// Build (or find in the cache) a kernel for QEMU with CONFIG_RUST=y.
    Build(BuildArgs),
}

#[derive(clap::Args)]
struct BuildArgs {
    /// Enable Rust (required: the only kind of kernel this builds so far).
    #[arg(long, required = true)]
    rust: bool,
    /// Debian source package (installed) or a kernel source tarball.
    #[arg(long, default_value = kernel::DEFAULT_SOURCE)]
    source: String,
    /// A config fragment (CONFIG_X=y lines) to add to kmodkit's small QEMU config.
    #[arg(long, value_name = "FRAGMENT")]
    config: Option<PathBuf>,
    /// Directory to put bzImage, build (the tree, for `kmodkit build --headers`),
    /// signing_key.pem, signing_key.x509 and release into.
    #[arg(long)]
    out: PathBuf,
    /// Parallel make jobs (default: the number of CPUs).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Fail instead of installing bindgen with `cargo install` when it is not cached.
    #[arg(long)]
    no_install: bool,
}

pub fn main(_: &str, args: Vec<OsString>) -> Outcome {
    let a = match Args::try_parse_from(std::iter::once("kmodkit kernel".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return super::clap_exit(e),
    };
    let Sub::Build(b) = a.command;
    let fragment = match &b.config {
        Some(p) => Some((
            p.clone(),
            std::fs::read_to_string(p).with_context(|| p.display().to_string())?,
        )),
        None => None,
    };
    let req = Request {
        source: b.source.clone(),
        fragment,
        cache: kernel::default_cache(),
        jobs: b
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        install_bindgen: !b.no_install,
    };
    let bar = progress_bar();
    let mut compiled = 0u64;
    let mut on_progress = |p: Progress| match p {
        Progress::Step(s) => {
            if bar.is_hidden() {
                eprintln!("kernel: {s}");
            } else {
                bar.println(format!("kernel: {s}"));
                bar.set_message(s);
            }
        }
        Progress::Line(l) => {
            // Kbuild's quiet lines: "  CC      kernel/fork.o".
            let t = l.trim_start();
            if l.starts_with("  ") && t.starts_with(|c: char| c.is_ascii_uppercase()) {
                compiled += 1;
                bar.set_message(format!("{compiled} steps; {t}"));
            }
        }
    };
    let k = kernel::build(&req, &mut on_progress).context("building the Rust kernel")?;
    bar.finish_and_clear();
    publish(&k, &b.out)?;
    for (o, v, why) in kernel::RUST_NEEDS {
        if !o.starts_with("RANDSTRUCT_") || *v == "y" {
            println!("set for Rust: CONFIG_{o}={v}: {why}");
        }
    }
    for c in &k.changes {
        println!(
            "changed: CONFIG_{}={} (the fragment asked for {}): {}",
            c.option, c.now, c.requested, c.why
        );
    }
    for (o, want, got) in &k.dropped {
        println!("not applied: CONFIG_{o}={want} is {got} after olddefconfig (its dependencies are not met)");
    }
    let how = if k.cached {
        format!("cached (built in {:.0} s)", k.build_time.as_secs_f64())
    } else {
        format!("built in {:.0} s", k.build_time.as_secs_f64())
    };
    println!("kernel {} with CONFIG_RUST=y, {how}", k.release);
    println!("  image:   {}", b.out.join("bzImage").display());
    println!("  tree:    {}", b.out.join("build").display());
    println!("  key:     {}", b.out.join("signing_key.pem").display());
    println!("  {}", k.toolchain.rustc_version);
    println!(
        "next: kmodkit new --rust NAME && kmodkit build NAME --kernel {} --headers {} --sign-key {} --sign-cert {}",
        k.release,
        b.out.join("build").display(),
        b.out.join("signing_key.pem").display(),
        b.out.join("signing_key.pem").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn progress_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

/// `--out DIR`: bzImage (a copy), `build` (a link to the cached tree), the signing key
/// and certificate (links into the tree), `release`.
fn publish(k: &kernel::Kernel, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    let image = std::fs::read(&k.image).with_context(|| k.image.display().to_string())?;
    safeio::replace(&out.join("bzImage"), &image, Some(0o644))?;
    safeio::replace(
        &out.join("release"),
        format!("{}\n", k.release).as_bytes(),
        None,
    )?;
    for (name, target) in [
        ("build", &k.tree),
        ("signing_key.pem", &k.signing_key),
        ("signing_key.x509", &k.signing_cert_der),
    ] {
        let link = out.join(name);
        if link
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            std::fs::remove_file(&link).with_context(|| link.display().to_string())?;
        }
        std::os::unix::fs::symlink(target, &link).with_context(|| link.display().to_string())?;
    }
    Ok(())
}
