//! Gives libcardap.so its SONAME, `libcardap.so.<major>` (`libcardap.so.0`
//! for 0.x), so that programs link against the ABI version and a breaking
//! release can be installed beside the old one. Only ELF targets have a
//! SONAME; elsewhere this does nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = matches!(
        os.as_str(),
        "linux"
            | "android"
            | "freebsd"
            | "netbsd"
            | "openbsd"
            | "dragonfly"
            | "illumos"
            | "solaris"
    );
    if elf {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcardap.so.{major}");
    }
}
