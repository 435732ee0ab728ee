// `streaminfer extract-frames -i URI -o DIR`: decodes any source (file, RTSP, camera, synthetic),
// keeps frames by --fps / --every-nth and writes each as an image whose name carries its frame
// number and timestamp, plus DIR/frames.csv listing them.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "commands.h"
#include "common/image_file.h"
#include "common/path_guard.h"
#include "dataset_commands.h"
#include "source/frame_sampler.h"
#include "source/source.h"
#include "streaminfer/clock.h"

namespace streaminfer::app {
namespace {
namespace fs = std::filesystem;

struct ExtractOptions {
  std::string input;
  std::string output_dir;
  double fps = 0;
  int every_nth = 1;
  std::string prefix = "frame_";
  std::string format = "png";
  int quality = 90;
  int64_t max_frames = 0;
  bool overwrite = false;
};

std::atomic<bool> g_extract_stop{false};

extern "C" void on_extract_stop(int signal_number) {
  g_extract_stop.store(true);           // async-signal-safe; a watcher thread interrupts the source
  std::signal(signal_number, SIG_DFL);  // a second Ctrl-C ends the process at once
}

Status validate_extract(const ExtractOptions& o) {
  if (o.fps < 0) return Status::error("--fps must be >= 0 (0: every frame)");
  if (o.every_nth < 1) return Status::error("--every-nth must be >= 1");
  if (o.quality < 1 || o.quality > 100) return Status::error("--quality must be 1..100");
  if (o.max_frames < 0) return Status::error("--max-frames must be >= 0 (0: no limit)");
  if (o.prefix.find_first_of("/,\"") != std::string::npos) {
    return Status::error(fmt::format(
        "--prefix '{}': no '/', ',' or '\"' (it starts file names listed in frames.csv)",
        o.prefix));
  }
  return Status::ok();
}

// An existing folder with files in it: earlier frames (perhaps at another rate) would mix with
// these and frames.csv would list only this run's, so the user decides.
Status prepare_output_dir(const ExtractOptions& o) {
  std::error_code ec;
  const fs::path dir(o.output_dir);
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return Status::error(
        fmt::format("extract-frames: '{}' exists and is not a folder; give -o a "
                    "folder to write the frames into",
                    o.output_dir));
  }
  if (fs::is_directory(dir, ec) && !o.overwrite) {
    size_t entries = 0;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      ++entries;
    }
    if (entries > 0) {
      return Status::error(fmt::format(
          "extract-frames: '{}' already holds {} file(s); choose a new or empty folder, or add "
          "--overwrite to write into it (files of the same name are replaced)",
          o.output_dir, entries));
    }
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::error(fmt::format("extract-frames: cannot create the folder '{}': {}",
                                     o.output_dir, ec.message()));
  }
  return Status::ok();
}

// The input against frames.csv and the images this run may write, before anything is written
// (common/path_guard.h): with --overwrite a video inside the output folder could be replaced.
Status check_extract_paths(const ExtractOptions& o, ImageFormat format) {
  PathPlan plan;
  if (is_local_file_uri(o.input)) plan.input("extract-frames -i", o.input);
  plan.output_folder("extract-frames -o", o.output_dir);
  plan.output("extract-frames' frames.csv", (fs::path(o.output_dir) / "frames.csv").string());
  SI_RETURN_IF_ERROR(plan.check_clashes());
  std::error_code ec;
  const fs::path input(o.input);
  const std::string name = input.filename().string();
  if (is_local_file_uri(o.input) && fs::exists(input, ec) &&
      fs::equivalent(input.has_parent_path() ? input.parent_path() : fs::path("."), o.output_dir,
                     ec) &&
      name.rfind(o.prefix, 0) == 0 &&
      input.extension() == std::string(".") + image_extension(format)) {
    return Status::error(fmt::format(
        "extract-frames -i '{}' is in -o '{}' under a name the frames take ({}*.{}); a frame "
        "could replace it: give another folder or --prefix",
        o.input, o.output_dir, o.prefix, image_extension(format)));
  }
  return Status::ok();
}

int extract_frames(const ExtractOptions& o) {
  if (Status valid = validate_extract(o); !valid) {
    print_error("extract-frames: " + valid.message());
    return 2;
  }
  auto parsed_format = parse_image_format(o.format);
  if (!parsed_format) {
    print_error("extract-frames: --format: " + parsed_format.status().message());
    return 2;
  }
  const ImageFormat format = parsed_format.value();
  if (Status paths = check_extract_paths(o, format); !paths) {
    print_error(paths.message());
    return 2;
  }
  auto source = open_source(o.input, SourceOptions{});
  if (!source) {
    print_error("extract-frames: " + source.status().message());
    return 2;
  }
  if (Status prepared = prepare_output_dir(o); !prepared) {
    print_error(prepared.message());
    return 2;
  }
  const fs::path csv_path = fs::path(o.output_dir) / "frames.csv";
  std::ofstream csv(csv_path);
  if (!csv) {
    print_error(fmt::format("extract-frames: cannot write '{}'", csv_path.string()));
    return 1;
  }
  csv << "file,frame_index,pts_seconds\n";
  const SourceInfo& info = source.value()->info();
  std::printf("extract-frames: %s [%s]\n", info.uri.c_str(), info.description.c_str());
  if (info.live) std::printf("live source: Ctrl-C stops (the frames so far are kept)\n");
  std::fflush(stdout);

  // Ctrl-C: a live source may be blocked in a read for seconds; interrupt() ends that read.
  g_extract_stop.store(false);
  std::signal(SIGINT, on_extract_stop);
  std::signal(SIGTERM, on_extract_stop);
  std::atomic<bool> done{false};
  Source& src = *source.value();
  std::thread watcher([&] {
    while (!done.load()) {
      if (g_extract_stop.load()) {
        src.interrupt();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  ImageWriteOptions write_options;
  write_options.format = format;
  write_options.jpeg_quality = o.quality;
  FrameSampler sampler(o.every_nth, o.fps);
  const int64_t start = now_ns();
  int64_t decoded = 0, written = 0;
  std::string failure;
  while (!g_extract_stop.load()) {
    FramePtr frame;
    if (Status next = src.next(frame); !next) {
      failure = next.message();
      break;
    }
    if (!frame) break;
    const int64_t index = decoded++;
    if (!sampler.keep(index, frame->pts_seconds)) continue;
    const std::string name = fmt::format("{}{:06d}_{:.3f}s.{}", o.prefix, index, frame->pts_seconds,
                                         image_extension(format));
    const std::string path = (fs::path(o.output_dir) / name).string();
    if (Status saved = write_image(*frame->image, path, write_options); !saved) {
      failure = saved.message();
      break;
    }
    csv << fmt::format("{},{},{:.6f}\n", name, index, frame->pts_seconds);
    ++written;
    if (o.max_frames > 0 && written >= o.max_frames) break;
  }
  done.store(true);
  watcher.join();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  csv.close();
  const double seconds = ns_to_ms(now_ns() - start) / 1000.0;
  if (!failure.empty()) print_error("extract-frames: " + failure);
  if (!csv) {
    print_error(fmt::format("extract-frames: cannot write '{}'", csv_path.string()));
    return 1;
  }
  std::printf("extract-frames: wrote %lld %s frame(s) of %lld decoded to %s in %.2f s%s\n",
              static_cast<long long>(written), image_extension(format),
              static_cast<long long>(decoded), o.output_dir.c_str(), seconds,
              g_extract_stop.load() ? " (stopped)" : "");
  std::printf("wrote %s\n", csv_path.string().c_str());
  if (const std::string problem = src.end_of_stream_problem(); !problem.empty()) {
    std::fprintf(stderr, "streaminfer: warning: %s\n", problem.c_str());
  }
  std::fflush(stdout);
  if (!failure.empty()) return 1;
  if (written == 0) {
    print_error(
        fmt::format("extract-frames: no frame written: '{}' gave {} frame(s)", o.input, decoded));
    return 1;
  }
  return 0;
}

}  // namespace

std::function<int()> add_extract_frames_command(CLI::App& app) {
  auto o = std::make_shared<ExtractOptions>();
  auto* cmd = app.add_subcommand(
      "extract-frames",
      "Write the frames of a video or stream as images, with their timestamps in the names and "
      "in frames.csv");
  cmd->add_option("-i,--input", o->input,
                  "Source: a video file, rtsp:// or http(s):// URL, /dev/videoN, camera:N or "
                  "synthetic:?...")
      ->required();
  cmd->add_option("-o,--output", o->output_dir,
                  "Folder for the images and frames.csv (created; must be new or empty unless "
                  "--overwrite)")
      ->required();
  cmd->add_option("--fps", o->fps,
                  "Keep at most this many evenly spaced frames per second of video (0: every "
                  "frame)")
      ->capture_default_str();
  cmd->add_option("--every-nth", o->every_nth, "Keep frames 0, K, 2K, ... (with --fps: both apply)")
      ->capture_default_str();
  cmd->add_option("--prefix", o->prefix,
                  "File names: {prefix}{frame index:06d}_{seconds:.3f}s.{ext}")
      ->capture_default_str();
  cmd->add_option("--format", o->format, "png, jpg or bmp")->capture_default_str();
  cmd->add_option("--quality", o->quality, "jpg quality, 1 (smallest) .. 100 (best)")
      ->capture_default_str();
  cmd->add_option("--max-frames", o->max_frames,
                  "Stop after writing this many images (0: to the end; live sources: until "
                  "Ctrl-C)")
      ->capture_default_str();
  cmd->add_flag("--overwrite", o->overwrite,
                "Write into a folder that already holds files (same names are replaced)");
  return [=]() -> int { return cmd->parsed() ? extract_frames(*o) : -1; };
}

}  // namespace streaminfer::app
