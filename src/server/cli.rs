//! `minicom agent …`: manage the team from the command line (for the first
//! setup, scripts, or when nobody can sign in).

use anyhow::{Context, bail};

use crate::server::auth;
use crate::server::store::{Role, Store};

/// The usage text for `minicom agent`.
pub const USAGE: &str = "\
Usage:
  minicom agent add --email EMAIL --name NAME [--role agent|admin] [--password-stdin]
  minicom agent list
  minicom agent deactivate --email EMAIL
  minicom agent activate --email EMAIL

`add` generates a strong password and prints it once; with --password-stdin it
reads the password from the first line of standard input instead. The database
is the one in DATABASE_URL (default sqlite://data/minicom.db).
";

/// Runs `minicom agent <args>` against `store`.
pub async fn agent_command(store: &Store, args: &[String]) -> anyhow::Result<()> {
    let (command, rest) = args.split_first().context(USAGE)?;
    let flag = |name: &str| -> Option<String> {
        rest.iter()
            .position(|a| a == name)
            .and_then(|i| rest.get(i + 1))
            .cloned()
    };
    match command.as_str() {
        "add" => {
            let email = flag("--email").context("--email is required")?;
            let name = flag("--name").context("--name is required")?;
            let role = match flag("--role").as_deref() {
                None | Some("agent") => Role::Agent,
                Some("admin") => Role::Admin,
                Some(other) => bail!("--role must be `agent` or `admin`, not {other:?}"),
            };
            if !crate::protocol::looks_like_email(&email) {
                bail!("{email:?} does not look like an email address");
            }
            let (password, generated) = if rest.iter().any(|a| a == "--password-stdin") {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("could not read the password from standard input")?;
                let line = line.trim_end_matches(['\r', '\n']).to_owned();
                if line.chars().count() < 12 {
                    bail!("the password must be at least 12 characters long");
                }
                (line, false)
            } else {
                (auth::generate_password(), true)
            };
            if store.agent_by_email(&email).await?.is_some() {
                bail!("an agent with the email {email} already exists");
            }
            let hash = auth::hash_password(&password)
                .map_err(|e| anyhow::anyhow!("could not hash the password: {e}"))?;
            store.create_agent(&email, &name, &hash, role).await?;
            println!("Added {name} <{email}> as {}.", role.as_str());
            if generated {
                println!("Password (shown only once): {password}");
            }
            Ok(())
        }
        "list" => {
            for agent in store.list_agents().await? {
                println!(
                    "{:<6} {:<8} {:<30} {}",
                    agent.role.as_str(),
                    if agent.active { "active" } else { "inactive" },
                    agent.email,
                    agent.name
                );
            }
            Ok(())
        }
        "deactivate" | "activate" => {
            let email = flag("--email").context("--email is required")?;
            let agent = store
                .agent_by_email(&email)
                .await?
                .with_context(|| format!("no agent has the email {email}"))?;
            let active = command == "activate";
            if !active && agent.role == Role::Admin && store.count_active_admins().await? <= 1 {
                bail!("{email} is the last active admin; add another admin first");
            }
            store.set_agent_active(agent.id, active).await?;
            println!(
                "{email} is now {}.",
                if active {
                    "active"
                } else {
                    "inactive (signed out everywhere)"
                }
            );
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}
