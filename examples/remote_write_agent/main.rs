//! `remote_write_agent`: the seed's application metrics (those `app_exporter` serves) sent by
//! remote write every `--interval` seconds to one or more `--remote-write.url`s instead of being
//! scraped: for an application behind NAT or on an edge device that no Prometheus can reach.
//!
//! Without `--app-url` it starts the embedded demo application on 127.0.0.1 and polls that.
//! Ctrl-C or SIGTERM sends a last collection and flushes the queue (at most `--flush-timeout`).
//!
//! ```text
//! $ prometheus --web.enable-remote-write-receiver &
//! $ cargo run --example remote_write_agent -- \
//!       --remote-write.url http://127.0.0.1:9090/api/v1/write --interval 5 \
//!       --external-label instance=edge-1
//! remote_write_agent: demo application on http://127.0.0.1:40371/status
//! remote_write_agent: sending every 5s to http://127.0.0.1:9090/api/v1/write
//! $ curl -s 'localhost:9090/api/v1/query?query=app_up'
//! ... "metric":{"__name__":"app_up","instance":"edge-1"},"value":[...,"1"] ...
//! ```

use clap::Parser;
use promexport::Collector;
use promexport::remote_write::{Endpoint, Protocol, RemoteWriter};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

promexport::build_info!("remote_write_agent");

#[path = "../app_exporter/demo_app.rs"]
mod demo_app;
#[path = "../app_exporter/status.rs"]
mod status;

use status::{POLL_TIMEOUT, poller};

/// Writes `remote_write_agent: <message>` to stdout or stderr, ignoring errors.
macro_rules! say {
    ($stream:ident, $($arg:tt)*) => {{
        let _ = writeln!(std::io::$stream(), "remote_write_agent: {}", format_args!($($arg)*));
    }};
}

/// Sends an application's status metrics by Prometheus remote write.
#[derive(Debug, Parser, PartialEq)]
#[command(version, about)]
struct Flags {
    /// Remote write endpoint (repeat for several), e.g. http://prometheus:9090/api/v1/write.
    #[arg(long = "remote-write.url", required = true, value_name = "URL")]
    remote_write_urls: Vec<String>,
    /// Seconds between two collections (and sends).
    #[arg(long, default_value_t = 15.0, value_parser = parse_interval)]
    interval: f64,
    /// Remote write protocol: 1.0, or 2.0 (experimental; Prometheus 2.54+, Mimir 2.17+).
    #[arg(long = "remote-write.protocol", default_value = "1.0", value_parser = parse_protocol)]
    protocol: Protocol,
    /// File whose content is sent as `Authorization: Bearer <token>`.
    #[arg(long = "remote-write.bearer-token-file", value_name = "PATH")]
    bearer_token_file: Option<String>,
    /// User name of HTTP basic auth (with --remote-write.basic-auth.password-file).
    #[arg(long = "remote-write.basic-auth.username", requires = "password_file")]
    username: Option<String>,
    /// File holding the password of HTTP basic auth.
    #[arg(
        long = "remote-write.basic-auth.password-file",
        value_name = "PATH",
        requires = "username"
    )]
    password_file: Option<String>,
    /// CA certificates (PEM) that an https:// endpoint's certificate must be signed by.
    #[arg(long = "remote-write.tls.ca-file", value_name = "PATH")]
    ca_file: Option<String>,
    /// Label added to every series, NAME=VALUE (repeat for several), e.g. instance=edge-1.
    #[arg(long = "external-label", value_name = "NAME=VALUE", value_parser = parse_label)]
    external_labels: Vec<(String, String)>,
    /// Seconds a shutdown may spend sending what is queued.
    #[arg(long = "flush-timeout", default_value_t = 10.0, value_parser = parse_interval)]
    flush_timeout: f64,
    /// http:// URL of the application's status endpoint (default: the demo application).
    #[arg(long = "app-url", value_name = "URL")]
    app_url: Option<String>,
}

fn parse_interval(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if (0.001..=86_400.0).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "{text:?} is not a number of seconds in 0.001..=86400"
        )),
    }
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text {
        "1.0" | "1" => Ok(Protocol::V1),
        "2.0" | "2" => Ok(Protocol::V2),
        _ => Err(format!("{text:?} is neither 1.0 nor 2.0")),
    }
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    Ok((name.trim().to_owned(), value.to_owned()))
}

fn read_secret(path: &str, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
        .map_err(|e| format!("{what} {path}: {e}"))
}

/// The writer the flags describe.
fn writer(flags: &Flags) -> Result<RemoteWriter, String> {
    let mut writer = RemoteWriter::new().interval(Duration::from_secs_f64(flags.interval));
    for (name, value) in &flags.external_labels {
        writer = writer.external_label(name, value);
    }
    let token = flags
        .bearer_token_file
        .as_deref()
        .map(|path| read_secret(path, "--remote-write.bearer-token-file"))
        .transpose()?;
    let password = flags
        .password_file
        .as_deref()
        .map(|path| read_secret(path, "--remote-write.basic-auth.password-file"))
        .transpose()?;
    let ca = flags
        .ca_file
        .as_deref()
        .map(|path| read_secret(path, "--remote-write.tls.ca-file"))
        .transpose()?;
    for url in &flags.remote_write_urls {
        let mut endpoint = Endpoint::new(url)
            .map_err(|e| e.to_string())?
            .protocol(flags.protocol);
        if let Some(token) = &token {
            endpoint = endpoint.bearer_token(token);
        }
        if let (Some(user), Some(password)) = (&flags.username, &password) {
            endpoint = endpoint.basic_auth(user, password);
        }
        if let Some(ca) = &ca {
            endpoint = endpoint
                .ca_certificate(ca)
                .map_err(|e| format!("--remote-write.tls.ca-file: {e}"))?;
        }
        writer = writer.endpoint(endpoint);
    }
    Ok(writer)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let flags = Flags::parse();
    if let Err(message) = run(flags).await {
        say!(stderr, "{message}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn run(flags: Flags) -> Result<(), String> {
    let app_url = match &flags.app_url {
        Some(url) => url.clone(),
        None => {
            let url =
                demo_app::start(0).map_err(|e| format!("starting the demo application: {e}"))?;
            say!(stdout, "demo application on {url}");
            url
        }
    };
    // Polled on the writer's interval: each send carries a fresh status.
    Collector::blocking("app", poller("remote_write_agent", app_url))
        .interval(Duration::from_secs_f64(flags.interval))
        .timeout(POLL_TIMEOUT * 2)
        .register()
        .map_err(|e| format!("registering the collector: {e}"))?;
    let writer = writer(&flags)?.start().map_err(|e| e.to_string())?;
    say!(
        stdout,
        "sending every {}s to {}",
        flags.interval,
        flags.remote_write_urls.join(", ")
    );
    promexport::exporter::shutdown_signal().await;
    writer
        .shutdown(Duration::from_secs_f64(flags.flush_timeout))
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &str) -> Result<Flags, String> {
        let args = std::iter::once("remote_write_agent").chain(args.split_whitespace());
        Flags::try_parse_from(args).map_err(|e| e.to_string())
    }

    #[test]
    fn flags_have_defaults_and_repeat() {
        let parsed = flags("--remote-write.url http://a/w --remote-write.url=http://b/w").unwrap();
        assert_eq!(parsed.remote_write_urls, ["http://a/w", "http://b/w"]);
        assert_eq!((parsed.interval, parsed.protocol), (15.0, Protocol::V1));
        let parsed = flags(
            "--remote-write.url http://a/w --interval 0.5 --remote-write.protocol 2.0 \
             --external-label instance=edge-1 --external-label job=edge",
        )
        .unwrap();
        assert_eq!((parsed.interval, parsed.protocol), (0.5, Protocol::V2));
        assert_eq!(
            parsed.external_labels,
            [
                ("instance".to_owned(), "edge-1".to_owned()),
                ("job".to_owned(), "edge".to_owned())
            ]
        );
        assert!(
            writer(&parsed).unwrap().start().is_err(),
            "no tokio runtime here"
        );
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(flags("").unwrap_err().contains("--remote-write.url"));
        assert!(flags("--remote-write.url http://a --interval 0").is_err());
        assert!(flags("--remote-write.url http://a --remote-write.protocol 3").is_err());
        assert!(flags("--remote-write.url http://a --external-label nope").is_err());
        let user_only = "--remote-write.url http://a --remote-write.basic-auth.username u";
        assert!(flags(user_only).is_err());
        let bad_url = flags("--remote-write.url ftp://a").unwrap();
        assert!(writer(&bad_url).is_err());
        let bad_label = flags("--remote-write.url http://a --external-label a-b=c").unwrap();
        assert!(writer(&bad_label).unwrap().start().is_err());
    }
}
