//! The `sluice` binary: `serve` (default), `worker`, `migrate`, `openapi`, `token`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
