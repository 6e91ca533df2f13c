//! The loading desk's operations on the card (PROFILE.md §12), each one
//! transaction: SELECT the card manager, authenticate with the issuer keys
//! (key reference `83`, encryption mode), then the command.

use super::registry::{IdState, IdUse, Registry};
use super::template::{ListedAp, check, create_file_template, parse_entry};
use super::{Area, InstallRequest, Installed, Issuer, KeySet};
use rand_core::{CryptoRngCore, OsRng};

use crate::auth::KEY_REFERENCE_ISSUER;
use crate::card::{Card, Policy};
use crate::commands;
use crate::error::{Error, Result};
use crate::profile::ApType;
use crate::session::Session;
use crate::sm::SmMode;
use crate::status::StatusWord;
use crate::transport::Transport;
use crate::userid::UserId;
use crate::write::ops::send_changing;

/// The most entries a listing asks for (`P1` is one byte).
const MAX_ENTRIES: u8 = 255;

fn open_manager(
    session: &mut Session<'_>,
    issuer: &Issuer,
    rng: &mut dyn CryptoRngCore,
) -> Result<()> {
    let keys = issuer.keys().static_keys()?;
    session.select_aid(issuer.card_manager())?;
    session.authenticate_with_reference(&keys, rng, SmMode::Encrypt, KEY_REFERENCE_ISSUER)
}

fn registry_error(e: super::RegistryError) -> Error {
    Error::Registry {
        problem: e.to_string(),
    }
}

impl<T: Transport> Card<T> {
    /// Installs an AP (PROFILE.md §12.2): draws a new user ID from the desk's
    /// registry (recorded before the card is asked), generates the read
    /// (Types A, D) and update key sets, and sends CREATE FILE with all of
    /// it encrypted. The result holds the keys, and
    /// [`Installed::profile_toml`] writes the AP's ready profile.
    pub fn install(&mut self, issuer: &Issuer, request: &InstallRequest) -> Result<Installed> {
        check(request)?;
        let suite = request.suite.unwrap_or(issuer.ap_suite());
        let mut os = OsRng;
        let read_keys = match request.kind {
            ApType::C => None,
            _ => Some(KeySet::generate(suite, &mut os)?),
        };
        let update_keys = KeySet::generate(suite, &mut os)?;
        let mut registry = Registry::open(issuer.registry_path()).map_err(registry_error)?;
        let user_id = registry
            .reserve(
                issuer.id_prefix(),
                &mut os,
                IdUse {
                    aid: &request.aid,
                    kind: request.kind.name(),
                    area: request.area.name(),
                    label: &request.label,
                },
            )
            .map_err(registry_error)?;
        let result = self.install_with(issuer, request, &user_id, read_keys, update_keys);
        let state = match &result {
            Ok(_) => Some(IdState::Installed),
            // The card refused: the AP does not exist (the ID stays used).
            Err(Error::Status { .. } | Error::Request { .. }) => Some(IdState::Failed),
            // Torn away or an integrity failure: the outcome is unknown.
            Err(_) => None,
        };
        if let Some(state) = state {
            registry
                .set_state(&user_id, state)
                .map_err(registry_error)?;
        }
        result
    }

    /// Installs an AP with a user ID and key sets the caller provides (no
    /// registry): for replays and for desks that keep IDs and keys elsewhere.
    pub fn install_with(
        &mut self,
        issuer: &Issuer,
        request: &InstallRequest,
        user_id: &UserId,
        read_keys: Option<KeySet>,
        update_keys: KeySet,
    ) -> Result<Installed> {
        check(request)?;
        if (request.kind == ApType::C) != read_keys.is_none() {
            return Err(Error::Request {
                problem: "Types A and D need read keys, Type C none".into(),
            });
        }
        let template = create_file_template(request, user_id, read_keys.as_ref(), &update_keys)?;
        let create = commands::create_file(&template)?;
        let span = tracing::info_span!(
            "install",
            ap_type = request.kind.name(),
            area = request.area.name()
        );
        let _entered = span.enter();
        let ((), apdus) = self.run(None, Policy::StateChanging, |session, rng| {
            open_manager(session, issuer, rng)?;
            send_changing(session, &create, "CREATE FILE").map(|_| ())
        })?;
        Ok(Installed {
            user_id: user_id.clone(),
            kind: request.kind,
            area: request.area,
            aid: request.aid.clone(),
            label: request.label.clone(),
            read_keys,
            update_keys,
            apdus,
        })
    }

    /// Deletes the AP with this AID (PROFILE.md §12.3); `6A 82` from the card
    /// is [`Error::ApNotFound`]. Returns the command APDUs sent.
    pub fn delete_ap(&mut self, issuer: &Issuer, aid: &[u8]) -> Result<usize> {
        if !(5..=16).contains(&aid.len()) {
            return Err(Error::Request {
                problem: format!("an AID has 5 to 16 bytes, got {}", aid.len()),
            });
        }
        let delete = commands::delete_file_df_name(aid)?;
        let span = tracing::info_span!("delete");
        let _entered = span.enter();
        let ((), apdus) = self.run(None, Policy::StateChanging, |session, rng| {
            open_manager(session, issuer, rng)?;
            match send_changing(session, &delete, "DELETE FILE") {
                Err(Error::Status {
                    sw: StatusWord::NotFound,
                    ..
                }) => Err(Error::ApNotFound {
                    aid: hex::encode_upper(aid),
                }),
                other => other.map(|_| ()),
            }
        })?;
        Ok(apdus)
    }

    /// Move-out (PROFILE.md §12.4): deletes every AP of the local-resident
    /// area and nothing else. Returns how many APs went and the APDUs sent.
    pub fn move_out(&mut self, issuer: &Issuer) -> Result<(usize, usize)> {
        let command = commands::delete_area(Area::Local.code(), 256)?;
        let span = tracing::info_span!("move_out");
        let _entered = span.enter();
        let (count, apdus) = self.run(None, Policy::StateChanging, |session, rng| {
            open_manager(session, issuer, rng)?;
            let data = send_changing(session, &command, "DELETE FILE")?;
            match data.as_slice() {
                [count] => Ok(usize::from(*count)),
                _ => Err(Error::Malformed {
                    ap: "card manager".into(),
                    problem: "move-out answered no count".into(),
                }),
            }
        })?;
        Ok((count, apdus))
    }

    /// Lists the APs of an area (`None`: both) with their types and user IDs
    /// (PROFILE.md §12.5), in EF.DIR order.
    pub fn list_area(&mut self, issuer: &Issuer, area: Option<Area>) -> Result<Vec<ListedAp>> {
        let p2 = area.map_or(0x00, Area::code);
        let span = tracing::info_span!("list_area");
        let _entered = span.enter();
        // A listing changes nothing: it may start again like a read.
        let (entries, _) = self.run(None, Policy::Read, |session, rng| {
            open_manager(session, issuer, rng)?;
            let mut entries = Vec::new();
            for index in 1..=MAX_ENTRIES {
                let get = commands::get_data_entry(index, p2, 256)?;
                let resp = session.transmit_protected(&get)?;
                match resp.sw {
                    StatusWord::Success => entries.push(parse_entry(&resp.data)?),
                    StatusWord::RecordNotFound => break,
                    sw => {
                        return Err(Error::Status {
                            command: "GET DATA",
                            sw,
                        });
                    }
                }
            }
            Ok(entries)
        })?;
        Ok(entries)
    }
}
