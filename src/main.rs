//! The `wxmp` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use wxmp::config::Config;
use wxmp::entity::admins;
use wxmp::wechat::SampleMessage;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "wxmp",
    version,
    about = "Runs WeChat Official Accounts: callback pipeline, admin REST API and UI, Rhai plugins",
    long_about = "Runs WeChat Official Accounts: callback pipeline, admin REST API and UI, Rhai plugins.\n\n\
        Without a command, `wxmp` serves. Configuration: defaults, then wxmp.toml (or --config / \
        WXMP_CONFIG), then WXMP_* environment variables (see README)."
)]
struct Cli {
    /// Configuration file (default: wxmp.toml in the working directory, when present)
    #[arg(long, global = true, env = "WXMP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve (the default)
    Serve,
    /// Apply database migrations and exit
    Migrate,
    /// Manage admin users
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Play WeChat: send a signed (and for AES accounts encrypted) message to a
    /// running server and print the decrypted reply
    #[command(group(clap::ArgGroup::new("what").required(true).args(["text", "event", "click", "image"])))]
    Simulate(Box<SimulateArgs>),
    /// Run a fake WeChat API and a fake WeChat Pay for local demos (point
    /// WXMP_WECHAT_API_BASE and WXMP_PAY_API_BASE at them)
    Sandbox {
        /// Address to serve the fake WeChat API on
        #[arg(long, default_value = "127.0.0.1:9100")]
        listen: std::net::SocketAddr,
        /// Address to serve the fake WeChat Pay on (default: the port after --listen)
        #[arg(long)]
        pay_listen: Option<std::net::SocketAddr>,
    },
    /// Check or dry-run a Rhai plugin file, without a server or database
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Compile a plugin (a .rhai file or a folder with main.rhai); report its declaration, or its errors with line and column
    Check { file: PathBuf },
    /// Run a plugin once against a sample message (state kept in memory); without
    /// --text or --event, run the name.test.toml files of a plugin or a directory
    #[command(group(clap::ArgGroup::new("what").args(["text", "event"])))]
    Test {
        file: PathBuf,
        /// A text message
        #[arg(long)]
        text: Option<String>,
        /// An event: subscribe, CLICK, SCAN …
        #[arg(long)]
        event: Option<String>,
        /// The event's key
        #[arg(long, default_value = "")]
        key: String,
        /// The fan's openid
        #[arg(long, default_value = "o_plugin_test")]
        from: String,
    },
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// The account's AppID
    #[arg(long)]
    app_id: String,
    /// Send a text message
    #[arg(long)]
    text: Option<String>,
    /// Send an event: subscribe, unsubscribe, SCAN, LOCATION, VIEW …
    #[arg(long)]
    event: Option<String>,
    /// The event's key (e.g. qrscene_42 with --event subscribe)
    #[arg(long, default_value = "")]
    key: String,
    /// Send a menu click with this key
    #[arg(long)]
    click: Option<String>,
    /// Send an image message with this PicUrl
    #[arg(long)]
    image: Option<String>,
    /// The fan's openid
    #[arg(long, default_value = "o_simulator")]
    from: String,
    /// The server (default: http:// + WXMP_LISTEN)
    #[arg(long)]
    url: Option<String>,
    /// The account's token; with --aes-key, --mode and --original-id read from
    /// the configured database when not given
    #[arg(long)]
    token: Option<String>,
    #[arg(long)]
    aes_key: Option<String>,
    /// 0 plaintext, 1 compatible, 2 AES
    #[arg(long)]
    mode: Option<i16>,
    #[arg(long)]
    original_id: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin (role admin unless --operator)
    Create {
        username: String,
        /// Password (prompted for on the terminal when omitted; also WXMP_NEW_PASSWORD)
        #[arg(long, env = "WXMP_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Create an operator instead of an admin
        #[arg(long)]
        operator: bool,
    },
    /// Set an admin's password
    Passwd {
        username: String,
        #[arg(long, env = "WXMP_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List admins
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("wxmp: {error}");
            return ExitCode::from(2);
        }
    };
    wxmp::logging::init(&config.log, config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wxmp: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wxmp: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = wxmp::db::connect(&config.database_url).await?;
            wxmp::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin { command } => admin(command, config).await,
        Command::Simulate(args) => simulate(*args, config).await,
        Command::Plugin { command } => plugin(command, config).await,
        Command::Sandbox { listen, pay_listen } => {
            use wxmp::dev::sandbox::{next_port, Sandbox};
            let pay_listen = pay_listen.unwrap_or_else(|| next_port(listen));
            let sandbox = Sandbox::start(listen, pay_listen).await?;
            print!("{}", sandbox.banner());
            wxmp::http::serve::shutdown_signal().await;
            Ok(())
        }
    }
}

async fn plugin(command: PluginCommand, config: Config) -> anyhow::Result<()> {
    let timeout = std::time::Duration::from_millis(config.plugin_timeout_ms);
    match command {
        PluginCommand::Check { file } => {
            let script = wxmp::plugins::cli::compile_file(&file, timeout)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let d = &script.declaration;
            println!("{}: ok", file.display());
            println!("  name:        {}", d.name);
            println!("  description: {}", d.description);
            println!(
                "  priority:    {} (follow 300, keyword 200, default -1000)",
                d.priority
            );
            println!(
                "  messages:    {:?}{}",
                d.messages,
                if script.has_on_message {
                    ""
                } else {
                    " (no on_message)"
                }
            );
            println!(
                "  events:      {:?}{}",
                d.events,
                if script.has_on_event {
                    ""
                } else {
                    " (no on_event)"
                }
            );
            println!(
                "  accounts:    {}",
                if d.accounts.is_empty() {
                    "all".to_string()
                } else {
                    d.accounts.join(", ")
                }
            );
            println!(
                "  on_error:    {}",
                d.on_error
                    .as_deref()
                    .unwrap_or("(none: the next handler answers)")
            );
            Ok(())
        }
        PluginCommand::Test {
            file,
            text,
            event,
            key,
            from,
        } => {
            if text.is_none() && event.is_none() {
                return wxmp::plugins::test_file::run_and_print(&file, timeout).await;
            }
            let script = wxmp::plugins::cli::compile_file(&file, timeout)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let sample = match event {
                Some(event) => SampleMessage::Event { event, key },
                None => SampleMessage::Text(text.unwrap_or_default()),
            };
            let xml = sample.to_xml("gh_plugin_test", &from, chrono::Utc::now().timestamp());
            let message = wxmp::wechat::InboundMessage::parse(&xml)?;
            let dry = wxmp::plugins::cli::test_script(script, message, timeout).await;
            for line in &dry.logs {
                println!("[{}] {}", line.level, line.message);
            }
            match (&dry.error, &dry.reply_xml) {
                (Some(error), Some(xml)) => {
                    anyhow::bail!("{error}\nthe fan gets the on_error reply:\n  {xml}")
                }
                (Some(error), None) => anyhow::bail!("{error}"),
                (None, Some(xml)) => println!("reply ({} µs):\n  {xml}", dry.micros),
                (None, None) => println!("{} ({} µs): no reply", dry.outcome, dry.micros),
            }
            Ok(())
        }
    }
}

async fn simulate(args: SimulateArgs, config: Config) -> anyhow::Result<()> {
    use wxmp::dev::simulate::Simulation;
    let stored = match &args.token {
        Some(_) => None,
        None => {
            let db = wxmp::db::connect(&config.database_url).await?;
            let account = wxmp::entity::accounts::Entity::find()
                .filter(wxmp::entity::accounts::Column::AppId.eq(args.app_id.as_str()))
                .one(&db)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no account with AppID {:?} in the database; pass --token",
                        args.app_id
                    )
                })?;
            Some(account)
        }
    };
    let message = match (args.text, args.event, args.click, args.image) {
        (Some(text), ..) => SampleMessage::Text(text),
        (_, Some(event), ..) => SampleMessage::Event {
            event,
            key: args.key,
        },
        (_, _, Some(key), _) => SampleMessage::Event {
            event: "CLICK".into(),
            key,
        },
        (_, _, _, Some(url)) => SampleMessage::Image {
            pic_url: url,
            media_id: "simulated".into(),
        },
        _ => anyhow::bail!("say what to send: --text, --event, --click or --image"),
    };
    let original_id = args
        .original_id
        .or_else(|| {
            stored
                .as_ref()
                .map(|a| a.original_id.clone())
                .filter(|o| !o.is_empty())
        })
        .unwrap_or_else(|| args.app_id.clone());
    let simulation = Simulation {
        server: args
            .url
            .unwrap_or_else(|| format!("http://{}", config.listen)),
        token: args
            .token
            .or_else(|| stored.as_ref().map(|a| a.token.clone()))
            .unwrap_or_default(),
        encoding_aes_key: args
            .aes_key
            .or_else(|| stored.as_ref().map(|a| a.encoding_aes_key.clone()))
            .unwrap_or_default(),
        mode: args
            .mode
            .or(stored.as_ref().map(|a| a.message_mode))
            .unwrap_or(0),
        app_id: args.app_id,
        original_id,
        from: args.from,
        message,
    };
    let result = simulation.run().await?;
    println!("sent:\n  {}", result.sent);
    println!(
        "HTTP {}{}",
        result.status,
        if result.encrypted {
            " (encrypted reply, verified and decrypted)"
        } else {
            ""
        }
    );
    println!(
        "reply:\n  {}",
        if result.reply.is_empty() {
            "(empty)"
        } else {
            &result.reply
        }
    );
    if result.status >= 400 {
        anyhow::bail!("the server refused the message");
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let shutdown = wxmp::http::serve::shutdown_signal();
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (WXMP_LISTEN): {e}"))?;
    let state = wxmp::bootstrap(config).await?;
    tracing::info!(
        address = %listener.local_addr()?,
        worker_id = state.ids.worker_id(),
        "wxmp is serving; admin API under /wechat, OpenAPI at /api-docs/openapi.json"
    );
    wxmp::serve(state, listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

fn read_password(given: Option<String>) -> anyhow::Result<String> {
    if let Some(password) = given {
        return Ok(password);
    }
    eprint!("new password: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        anyhow::bail!("no password given (use --password or WXMP_NEW_PASSWORD)");
    }
    Ok(password)
}

async fn admin(command: AdminCommand, config: Config) -> anyhow::Result<()> {
    let db = wxmp::db::connect(&config.database_url).await?;
    wxmp::db::migrate(&db).await?;
    let state = wxmp::state::AppState::new(config, db)?;
    // A worker id for new rows (its lease runs out 30 s after the command).
    wxmp::cluster::instance::join(&state).await?;
    match command {
        AdminCommand::Create {
            username,
            password,
            operator,
        } => {
            if !wxmp::auth::valid_username(&username) {
                anyhow::bail!("user name must be 1–64 letters, digits, '.', '_' or '-'");
            }
            let password = read_password(password)?;
            wxmp::auth::check_password_strength(&password)
                .map_err(|r| anyhow::anyhow!("password {r}"))?;
            let role = if operator {
                wxmp::auth::ROLE_OPERATOR
            } else {
                wxmp::auth::ROLE_ADMIN
            };
            let admin = wxmp::auth::create_admin(
                &state.db,
                &state.ids,
                &username,
                &password,
                role,
                Vec::new(),
            )
            .await?;
            println!(
                "created {} {} (id {})",
                admin.role, admin.username, admin.id
            );
        }
        AdminCommand::Passwd { username, password } => {
            let admin = admins::Entity::find()
                .filter(admins::Column::Username.eq(username.as_str()))
                .one(&state.db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no admin named {username:?}"))?;
            let password = read_password(password)?;
            wxmp::auth::check_password_strength(&password)
                .map_err(|r| anyhow::anyhow!("password {r}"))?;
            wxmp::auth::set_password(&state.db, admin, &password).await?;
            println!("password of {username} changed; their old tokens no longer work");
        }
        AdminCommand::List => {
            let all = admins::Entity::find()
                .order_by_asc(admins::Column::Id)
                .all(&state.db)
                .await?;
            println!(
                "{:<20} {:<24} {:<9} {:<8} last sign-in",
                "id", "user", "role", "status"
            );
            for a in all {
                let last = a
                    .last_login_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "never".into());
                let status = if a.status == 1 { "enabled" } else { "disabled" };
                println!(
                    "{:<20} {:<24} {:<9} {:<8} {last}",
                    a.id, a.username, a.role, status
                );
            }
        }
    }
    Ok(())
}
