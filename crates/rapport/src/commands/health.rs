//! `rapport health`: asks a server's grpc.health.v1 service; exit code 0 when SERVING. The Helm
//! chart's test hook runs it against every enabled service.

use std::time::Duration;

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::Outcome;

/// Arguments of `rapport health`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server, e.g. http://127.0.0.1:50051.
    #[arg(
        long,
        env = "RAPPORT_HEALTH_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub addr: String,
    /// The gRPC service to ask about (e.g. rapport.customers.v1.CustomerService); empty asks
    /// about the whole server, "liveness" whether the process runs.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout_secs: u64,
}

/// Prints the status and exits 0 when serving, 1 otherwise.
pub async fn run(args: Args) -> Outcome {
    let addr = &args.addr;
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(addr.clone())
            .map_err(|e| format!("{addr} is not a server address: {e}"))?
            .connect()
            .await
            .map_err(|e| format!("{addr} did not answer: {}", causes(&e)))?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: args.service.clone(),
            })
            .await
            .map_err(|e| format!("{addr} did not answer the health check: {}", e.message()))?;
        Ok::<_, String>(reply.into_inner().status())
    };
    let status = tokio::time::timeout(Duration::from_secs(args.timeout_secs), check)
        .await
        .map_err(|_| format!("no answer from {} within {}s", args.addr, args.timeout_secs))??;
    println!("{}", status.as_str_name());
    Ok(if status == ServingStatus::Serving {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// An error with its causes, outermost first: tonic's "transport error" alone says nothing of
/// what failed ("Connection refused" is two causes down).
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}
