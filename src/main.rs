//! The `postdesk` binary: parse the command line, hand over to the library.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` (an option without a named constant in the
/// bindings: see `mi_option_e` in mimalloc.h, version 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc's `arena_eager_commit` (the same header).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
/// mimalloc's `allow_thp` (the same header).
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// On a system that overcommits, mimalloc commits each arena whole when it
/// reserves it: 45 of the idle daemon's 62 MB were such memory, never
/// used. Committed as used instead, an idle daemon holds about 17 MB. The
/// first arena is reserved at the first allocation, before `main`, so the
/// option is set from the ELF constructors, which run before Rust's
/// runtime allocates anything (and so before anything could read the
/// environment: reading it allocates, which would reserve the arena).
///
/// Transparent huge pages are turned off for the process the same way (it
/// is decided when mimalloc starts): memory is given back to the kernel
/// when freed (see `main`), and a huge page taken again is zeroed whole on
/// its first touch, 2 MiB for what may be a few KiB of use.
extern "C" fn commit_arenas_lazily() {
    // SAFETY: runs single-threaded before main; mi_option_set only stores
    // the value.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ARENAS_LAZILY: extern "C" fn() = commit_arenas_lazily;

fn main() -> std::process::ExitCode {
    // Freed memory goes back to the kernel at once, so a burst of mail or
    // one large admin query does not leave the daemon at its peak for good.
    // Measured with benches/burst.sh (8,000 mails into a Maildir while
    // `serve` runs, 3 interleaved rounds, benches/RESULTS.md "Issue 18:
    // memory after a burst"): never purging kept 227-303 MiB after the
    // burst and grew with each admin query; purging at once with huge
    // pages off kept 169-199 MiB (the rest is the store engine's cache
    // and pages still partly in use) for 7% more daemon CPU during the
    // burst (8.83 s against 8.23 s); with huge pages on it cost 13%.
    // MIMALLOC_PURGE_DELAY in the environment still wins.
    let args = postdesk::cli::parse_args();
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called before any other thread exists; mimalloc reads
        // the option on each purge decision.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    match args {
        Ok(args) => postdesk::cli::run(args),
        Err(code) => code,
    }
}
