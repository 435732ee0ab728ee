// streaminfer: DNN inference over many video streams, with every stage timed.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstring>
#include <optional>
#include <string>

#include "bench_command.h"
#include "commands.h"
#include "common/openmp_waiting.h"
#include "common/stop_request.h"
#include "dataset_commands.h"
#include "report_command.h"
#include "train_command.h"

namespace {

// --config is applied before the other flags are parsed so that flags given on the command line
// override the file's values.
std::string find_config_path(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) return argv[i + 1];
    if (std::strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
  }
  return {};
}

// The subcommand: the first argument that is not a flag (flags of the app itself come first).
std::string subcommand_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') return argv[i];
  }
  return {};
}

// Runs before any shared library initializes (LibTorch's registrations take most of a second):
// from the first instant a stop signal is recorded for `run` to honour, instead of killing the
// process before it could write anything. Commands that do not drain get the default actions
// back in main() (and a signal that came meanwhile then ends them).
// The same hook chooses how LibTorch's OpenMP threads wait (common/openmp_waiting.h), by
// starting again with it in the environment: libgomp reads it once, when it initializes.
extern "C" void streaminfer_install_early_stop_signals(int, char** argv, char** envp) {
  streaminfer::choose_openmp_waiting(argv, envp);
  streaminfer::install_stop_signals(streaminfer::process_stop_request());
  streaminfer::unblock_stop_signals_after_restart(envp);
}
__attribute__((section(".preinit_array"), used)) void (*const streaminfer_early_stop_signals)(
    int, char**, char**) = streaminfer_install_early_stop_signals;

}  // namespace

int main(int argc, char** argv) {
  using namespace streaminfer;
  // A write to a closed pipe or socket then fails with EPIPE, which the writer reports, instead
  // of killing the process without a word (`streaminfer run --output - | head -1`).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"streaminfer: DNN inference over many video streams, every millisecond accounted"};
  app.require_subcommand(1);
  app.set_version_flag("--version", STREAMINFER_VERSION);

  RunOptions options;
  std::string config_path = find_config_path(argc, argv);
  const bool serving = subcommand_of(argc, argv) == "serve";
  std::optional<ServeConfig> serve_config;
  if (!config_path.empty() && serving) {
    // serve's file has run's keys and `streams:`; its streams are kept apart from --source.
    auto loaded = load_serve_config(config_path);
    if (!loaded) {
      app::print_error(loaded.status().message());
      return 2;
    }
    serve_config = std::move(loaded.value());
    options = serve_config->run;
    options.sources.clear();
  } else if (!config_path.empty()) {
    Status loaded = load_run_options_yaml(config_path, options);
    if (!loaded) {
      app::print_error(loaded.message());
      return 2;
    }
  }
  auto* run = app.add_subcommand(
      "run", "Run a detector over video streams (default: 4 synthetic cameras, yolov8n-shapes)");
  app::add_run_flags(*run, options, config_path);
  app::ServeOptions serve_options;
  auto* serve = app.add_subcommand(
      "serve",
      "Run as a service: streams added and removed over an HTTP API, Prometheus metrics at "
      "/metrics, SIGHUP reloads --config, SIGTERM drains");
  app::add_run_flags(*serve, options, config_path);
  serve
      ->add_option("--listen", serve_options.listen,
                   "HOST:PORT of the HTTP API (port 0: any free port, printed at start)")
      ->capture_default_str();
  serve->add_option("--api-token-file", serve_options.api_token_file,
                    "File holding the bearer token every route but /healthz, /readyz and /metrics "
                    "requires (needed "
                    "to listen on an address other than loopback)");
  serve->add_option("--fleet", serve_options.fleet,
                    "etcd://HOST:PORT/PREFIX: join that fleet of workers; the cameras are the keys "
                    "PREFIX/streams/NAME, each run by one live worker (README: Running a fleet)");
  serve
      ->add_option("--fleet-ttl", serve_options.fleet_ttl,
                   "Seconds a dead worker's lease outlives it: its cameras move to the others "
                   "after this")
      ->capture_default_str();
  serve->add_option("--worker-id", serve_options.worker_id,
                    "This worker's id in the fleet, its JSONL lines and metrics (default: "
                    "HOSTNAME:PORT of the API)");
  auto* info = app.add_subcommand("info", "System and build information");
  std::string report_dir, report_output;
  int64_t report_pid = 0;
  auto* report = app.add_subcommand(
      "report", "Write one self-contained HTML page of charts from a --metrics-dir directory");
  report->add_option("dir", report_dir, "Metrics directory written by run --metrics-dir")
      ->required();
  report->add_option("-o,--output", report_output, "HTML file to write (default: DIR/report.html)");
  report->add_option("--pid", report_pid, "Run to show when DIR holds several (default: newest)");

  app::LaunchOptions launch_options;
  auto* launch = app.add_subcommand(
      "launch",
      "Run several `run` workers from a YAML file, restart crashed ones, merge summaries");
  launch
      ->add_option("workers", launch_options.workers_file,
                   "YAML file: workers: [{name: ..., <any run key>: ...}, ...]")
      ->required();
  launch
      ->add_option("-o,--out-dir", launch_options.out_dir,
                   "Each worker's config, CSVs, summaries and logs go to OUT_DIR/<name>/")
      ->capture_default_str();
  launch
      ->add_option("--max-restarts", launch_options.max_restarts,
                   "Crashes in a row before a worker is given up (-1: no limit)")
      ->capture_default_str();

  const auto run_bench = app::add_bench_command(app);
  const auto run_extract_frames = app::add_extract_frames_command(app);
  const auto run_annotate = app::add_annotate_command(app);
  const auto run_train = app::add_train_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, as "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    app::print_error(app::describe_parse_error(e) + " (see streaminfer --help)");
    return 2;
  }
  if (run->parsed()) return app::run_command(std::move(options));
  if (serve->parsed()) {
    return app::serve_command(std::move(options), serve_options, std::move(serve_config));
  }
  restore_stop_signals(/*raise_pending=*/true);
  if (info->parsed()) return app::info_command();
  if (launch->parsed()) return app::launch_command(launch_options);
  if (report->parsed()) return app::report_command(report_dir, report_output, report_pid);
  if (const int code = run_bench(); code >= 0) return code;
  if (const int code = run_extract_frames(); code >= 0) return code;
  if (const int code = run_annotate(); code >= 0) return code;
  if (const int code = run_train(); code >= 0) return code;
  return 2;
}
