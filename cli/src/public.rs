//! The card's own public APs: `info`, `pin-status`, `jpki cert`, `jpki sign`
//! and `kenhojo`. PINs come from `--pin-env VAR` or `--pin-stdin`, never from
//! the command line; the core refuses a VERIFY that would use the last try
//! unless `--allow-last-try` is given.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use cardap::Card;
use cardap::LengthMode;
use cardap::public::{
    Certificate, HashAlg, KenhojoRequest, Pin, PinFloor, PinKind, SigningKey, public_key_from,
};
use cardap::transport::Transport;
use clap::{Args, Subcommand, ValueEnum};
use zeroize::Zeroizing;

use crate::Source;
use crate::error::{CliError, CliResult, Exit};

/// The public-AP subcommands (flattened into the main command list).
#[derive(Subcommand)]
pub enum PublicCmd {
    /// Identify the card by SELECT and the JPKI token (never by ATR); list
    /// EF.DIR. JSON: `card` (mynumber, jpki-other, unknown), `token`, `aps`.
    Info {
        #[command(flatten)]
        card: CardOpts,
    },
    /// Tries left of the three PINs, spending none. JSON: `jpki_auth`,
    /// `jpki_sign`, `kenhojo`.
    PinStatus {
        #[command(flatten)]
        card: CardOpts,
    },
    /// The JPKI AP: certificates and signatures.
    Jpki {
        #[command(subcommand)]
        command: JpkiCmd,
    },
    /// The kenhojo AP (text of the card face) after its PIN. JSON: `name`,
    /// `address`, `birth_date` (YYYY-MM-DD), `sex`, and `my_number` with
    /// `--my-number`.
    Kenhojo {
        /// Also read the My Number (its collection is restricted by law).
        #[arg(long)]
        my_number: bool,
        /// Check the digests DF31/DF32 against the data read, and the
        /// signature DF33 with `--verify-key`.
        #[arg(long)]
        verify: bool,
        /// Public key or certificate (PEM or DER) that signed the digests.
        #[arg(long, value_name = "FILE", requires = "verify")]
        verify_key: Option<PathBuf>,
        #[command(flatten)]
        pin: PinOpts,
        #[command(flatten)]
        card: CardOpts,
    },
}

/// `cardap jpki …`.
#[derive(Subcommand)]
pub enum JpkiCmd {
    /// Print a certificate (PEM by default); `sign` needs the signature PIN.
    Cert {
        /// Which certificate.
        #[arg(value_enum)]
        which: CertArg,
        /// PEM (the default).
        #[arg(long, conflicts_with = "der")]
        pem: bool,
        /// DER bytes.
        #[arg(long)]
        der: bool,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        pin: PinOpts,
        #[command(flatten)]
        card: CardOpts,
    },
    /// Sign FILE's digest on the card (PKCS#1 v1.5): raw signature bytes with
    /// `-o`, hex on stdout otherwise.
    Sign {
        /// Which key: `auth` (authentication PIN) or `sign` (signature PIN).
        #[arg(value_enum)]
        key: KeyArg,
        /// The file to sign.
        file: PathBuf,
        /// Digest algorithm.
        #[arg(long, value_enum, default_value_t = HashArg::Sha256)]
        hash: HashArg,
        /// Write the raw signature here.
        #[arg(short = 'o', long = "output", value_name = "SIG")]
        output: Option<PathBuf>,
        #[command(flatten)]
        pin: PinOpts,
        #[command(flatten)]
        card: CardOpts,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CertArg {
    Auth,
    AuthCa,
    Sign,
    SignCa,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KeyArg {
    Auth,
    Sign,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum HashArg {
    Sha256,
    Sha1,
    Sha384,
    Sha512,
}

/// Where the card is, and the length mode.
#[derive(Args)]
pub struct CardOpts {
    #[command(flatten)]
    source: Source,
    /// Use short APDUs only (readers that cannot carry extended length).
    #[arg(long)]
    short: bool,
}

/// Where the PIN comes from.
#[derive(Args)]
pub struct PinOpts {
    /// Read the PIN from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "pin_stdin")]
    pin_env: Option<String>,
    /// Read the PIN from the first line of standard input.
    #[arg(long)]
    pin_stdin: bool,
    /// Lower the PIN floor to 0: the last try may be used.
    #[arg(long)]
    allow_last_try: bool,
}

fn fail(exit: Exit, message: impl Into<String>) -> CliError {
    CliError::new(exit, message)
}

/// One line of JSON (the shapes are the core's, feature `json`).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn open(opts: &CardOpts, floor: PinFloor) -> CliResult<Card<Box<dyn Transport>>> {
    let transport = crate::card::open(&opts.source)?;
    let length = if opts.short {
        LengthMode::Short
    } else {
        LengthMode::Auto
    };
    Ok(Card::new(transport)
        .with_length_mode(length)
        .with_pin_floor(floor))
}

fn floor(pin: &PinOpts) -> PinFloor {
    if pin.allow_last_try {
        PinFloor::ALLOW_LAST_TRY
    } else {
        PinFloor::SAFE
    }
}

/// The PIN from `--pin-env` or `--pin-stdin`, checked against its rule.
fn read_pin(opts: &PinOpts, kind: PinKind) -> CliResult<Pin> {
    let text: Zeroizing<String> = if let Some(var) = &opts.pin_env {
        Zeroizing::new(std::env::var(var).map_err(|_| {
            fail(
                Exit::Usage,
                format!("the environment variable {var} (--pin-env) is not set or not UTF-8"),
            )
        })?)
    } else if opts.pin_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| fail(Exit::Usage, format!("cannot read the PIN from stdin: {e}")))?;
        Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        return Err(fail(
            Exit::Usage,
            format!("the {kind} is needed: give --pin-env VAR or --pin-stdin"),
        ));
    };
    Pin::new(kind, text.as_bytes()).map_err(|e| CliError::from(cardap::Error::from(e)))
}

fn write_out(path: Option<&PathBuf>, bytes: &[u8]) -> CliResult {
    match path {
        Some(p) => std::fs::write(p, bytes)
            .map_err(|e| fail(Exit::Internal, format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| fail(Exit::Internal, format!("cannot write to stdout: {e}")))
        }
    }
}

fn pem(der: &[u8]) -> CliResult<String> {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| fail(Exit::Internal, format!("cannot encode PEM: {e}")))
}

/// Runs a public-AP command.
pub fn run(cmd: PublicCmd) -> CliResult {
    match cmd {
        PublicCmd::Info { card } => {
            let mut aps = open(&card, PinFloor::SAFE)?;
            let info = aps.info().map_err(CliError::from)?;
            outln!("{}", json(&info));
            Ok(())
        }
        PublicCmd::PinStatus { card } => {
            let mut aps = open(&card, PinFloor::SAFE)?;
            let s = aps.pin_status().map_err(CliError::from)?;
            outln!("{}", json(&s));
            Ok(())
        }
        PublicCmd::Jpki {
            command:
                JpkiCmd::Cert {
                    which,
                    pem: _,
                    der,
                    output,
                    pin,
                    card,
                },
        } => {
            let which = match which {
                CertArg::Auth => Certificate::Auth,
                CertArg::AuthCa => Certificate::AuthCa,
                CertArg::Sign => Certificate::Sign,
                CertArg::SignCa => Certificate::SignCa,
            };
            let the_pin = if which.needs_pin() {
                Some(read_pin(&pin, PinKind::JpkiSign)?)
            } else {
                None
            };
            let mut aps = open(&card, floor(&pin))?;
            let cert = aps
                .jpki_certificate(which, the_pin.as_ref())
                .map_err(CliError::from)?;
            if der {
                write_out(output.as_ref(), &cert)
            } else {
                write_out(output.as_ref(), pem(&cert)?.as_bytes())
            }
        }
        PublicCmd::Jpki {
            command:
                JpkiCmd::Sign {
                    key,
                    file,
                    hash,
                    output,
                    pin,
                    card,
                },
        } => {
            let key = match key {
                KeyArg::Auth => SigningKey::Auth,
                KeyArg::Sign => SigningKey::Sign,
            };
            let hash = match hash {
                HashArg::Sha1 => HashAlg::Sha1,
                HashArg::Sha256 => HashAlg::Sha256,
                HashArg::Sha384 => HashAlg::Sha384,
                HashArg::Sha512 => HashAlg::Sha512,
            };
            let data = std::fs::read(&file)
                .map_err(|e| fail(Exit::File, format!("cannot read {}: {e}", file.display())))?;
            let the_pin = read_pin(&pin, key.pin())?;
            let mut aps = open(&card, floor(&pin))?;
            let signature = aps
                .jpki_sign(key, &the_pin, hash, &data)
                .map_err(CliError::from)?;
            match output {
                Some(path) => write_out(Some(&path), &signature),
                None => {
                    outln!("{}", hex::encode(&signature));
                    Ok(())
                }
            }
        }
        PublicCmd::Kenhojo {
            my_number,
            verify,
            verify_key,
            pin,
            card,
        } => {
            let key = match &verify_key {
                Some(path) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        fail(Exit::File, format!("cannot read {}: {e}", path.display()))
                    })?;
                    Some(
                        public_key_from(&bytes)
                            .map_err(|e| fail(Exit::File, format!("{}: {e}", path.display())))?,
                    )
                }
                None => None,
            };
            let the_pin = read_pin(&pin, PinKind::Kenhojo)?;
            let mut aps = open(&card, floor(&pin))?;
            let request = KenhojoRequest {
                my_number,
                verify,
                verify_key: key,
            };
            let data = aps.kenhojo(&the_pin, &request).map_err(CliError::from)?;
            if data.verification.is_some_and(|v| !v.signature) {
                eprintln!("cardap: the signature DF33 was not checked (no --verify-key given)");
            }
            let text = zeroize::Zeroizing::new(json(&data));
            outln!("{}", text.as_str());
            Ok(())
        }
    }
}
