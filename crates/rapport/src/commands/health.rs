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
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(args.addr.clone())?
            .connect()
            .await?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: args.service.clone(),
            })
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(reply.into_inner().status())
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
