//! The `postdesk` binary: parse the command line, hand over to the library.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` (an option without a named constant in the
/// bindings: see `mi_option_e` in mimalloc.h, version 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc's `arena_eager_commit` (the same header).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// On a system that overcommits, mimalloc commits each arena whole when it
/// reserves it: 45 of the idle daemon's 62 MB were such memory, never
/// used. Committed as used instead, an idle daemon holds about 17 MB. The
/// first arena is reserved at the first allocation, before `main`, so the
/// option is set from the ELF constructors, which run before Rust's
/// runtime allocates anything (and so before anything could read the
/// environment: reading it allocates, which would reserve the arena).
extern "C" fn commit_arenas_lazily() {
    // SAFETY: runs single-threaded before main; mi_option_set only stores
    // the value.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ARENAS_LAZILY: extern "C" fn() = commit_arenas_lazily;

fn main() -> std::process::ExitCode {
    // Intake frees a batch's memory and asks for as much again a few
    // hundred milliseconds later. mimalloc returned it to the kernel in
    // between (a delay does not help: threads of the store's and tokio's
    // pools that end force a purge), and it came back as fresh
    // transparent huge pages, zeroed on first touch: a tenth of the
    // daemon's CPU time in the IMAP benchmark. So memory is kept, as
    // glibc's malloc mostly does: the daemon stays at its peak (about
    // 350 MB after 10,000 messages at once, far less in daily use).
    // MIMALLOC_PURGE_DELAY in the environment still wins.
    //
    // `import` is the exception: one long pass whose live memory is
    // bounded (a few batches in flight, the store's cache), where kept
    // memory only adds fragmentation to the peak. Purged at once, its peak
    // RSS was 15% lower at 100,000 and 300,000 messages at the same rate
    // (benches/RESULTS.md, "Issue 18: import memory").
    let args = postdesk::cli::parse_args();
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        let importing = matches!(
            &args,
            Ok(a) if matches!(a.command, postdesk::cli::Command::Import { .. })
        );
        let delay = if importing { 0 } else { -1 };
        // SAFETY: called before any other thread exists; mimalloc reads
        // the option on each purge decision.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay) };
    }
    match args {
        Ok(args) => postdesk::cli::run(args),
        Err(code) => code,
    }
}
