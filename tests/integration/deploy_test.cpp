// The deployment files (deploy/): the Kubernetes manifests checked against the Kubernetes API's
// schemas and the fleet's needs (tests/deploy/check_manifests.mjs, with node), their worker
// arguments against `streaminfer serve --help`, and the Dockerfile against the build it copies.
// No image is built here: the machine has podman/buildah in Debian but no registry to pull the
// debian:12 base image from (see the README's "Running a fleet").
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kRoot = fs::path(STREAMINFER_TEST_MODELS).parent_path();

CommandResult check_manifests(const fs::path& dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"node", (kRoot / "tests/deploy/check_manifests.mjs").string(),
                                   dir.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv, 60s);
}

TEST(Deploy, TheKubernetesManifestsPassTheSchemasAndTheFleetsChecks) {
  const auto checked = check_manifests(kRoot / "deploy/kubernetes");
  ASSERT_EQ(checked.exit_code, 0) << checked.describe();
  EXPECT_NE(checked.out.find("ok: 5 objects"), std::string::npos) << checked.out;
}

// The check can fail: a copy of the manifests with a schema error and a missing probe.
TEST(Deploy, AManifestWithAWrongTypeOrNoReadinessProbeIsRefused) {
  TempDir dir;
  for (const char* f : {"etcd.yaml", "workers.yaml", "kustomization.yaml"}) {
    fs::copy_file(kRoot / "deploy/kubernetes" / f, dir / f);
  }
  std::string workers = read_file(dir / "workers.yaml");
  workers = std::regex_replace(workers, std::regex("replicas: 3"), "replicas: three");
  workers = std::regex_replace(workers, std::regex("path: /readyz"), "path: /healthz");
  write_file(dir / "workers.yaml", workers);
  const auto refused = check_manifests(dir.path());
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_NE(refused.out.find("spec/replicas must be integer"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("readiness probe must GET /readyz"), std::string::npos) << refused.out;
}

TEST(Deploy, EveryWorkerArgumentIsAFlagOfServe) {
  const auto args = check_manifests(kRoot / "deploy/kubernetes", {"--worker-args"});
  ASSERT_EQ(args.exit_code, 0) << args.describe();
  const auto help = run_command({streaminfer_bin(), "serve", "--help"}, 60s);
  ASSERT_EQ(help.exit_code, 0) << help.describe();
  const auto lines = non_empty_lines(args.out);
  ASSERT_GE(lines.size(), 4u);
  for (const auto& arg : lines) {
    const std::string flag = arg.substr(0, arg.find('='));
    EXPECT_NE(help.out.find("  " + flag + " "), std::string::npos) << flag << " is not in:\n"
                                                                   << help.out;
  }
}

TEST(Deploy, TheDockerfileBuildsWhatBootstrapBuildsAndShipsOnlyTheBinaryModelsAndLibraries) {
  const std::string dockerfile = read_file(kRoot / "deploy/Dockerfile");
  const std::string bootstrap = read_file(kRoot / "scripts/bootstrap.sh");
  ASSERT_FALSE(dockerfile.empty());
  EXPECT_NE(dockerfile.find("FROM debian:12 AS build"), std::string::npos);
  EXPECT_NE(dockerfile.find("FROM debian:12-slim AS runtime"), std::string::npos);
  // The runtime stage copies the build's /out/ (binary, models, libraries) and nothing else.
  const std::string runtime = dockerfile.substr(dockerfile.find("AS runtime"));
  std::smatch m;
  std::string copies;
  for (auto it = runtime.cbegin();
       std::regex_search(it, runtime.cend(), m, std::regex(R"(\nCOPY ([^\n]*))"));
       it = m.suffix().first) {
    copies += m[1].str() + ";";
  }
  EXPECT_EQ(copies, "--from=build /out/ /;");
  EXPECT_NE(runtime.find(R"(ENTRYPOINT ["streaminfer", "serve"])"), std::string::npos);
  EXPECT_TRUE(std::regex_search(runtime, std::regex(R"(\nUSER [0-9]+\n)"))) << "a numeric user";
  // The build stage installs -dev packages bootstrap.sh also installs (one list to keep right),
  // and copies folders that exist.
  const std::string build = dockerfile.substr(0, dockerfile.find("AS runtime"));
  for (auto it = build.cbegin();
       std::regex_search(it, build.cend(), m, std::regex(R"(\b(lib[a-z0-9.+-]+-dev)\b)"));
       it = m.suffix().first) {
    const std::string package = m[1].str();
    // (Not " " + package: GCC 12 warns -Wrestrict inside that operator+ at -O3.)
    std::string listed(" ");
    listed.append(package);
    EXPECT_NE(bootstrap.find(listed), std::string::npos)
        << package << " is not in scripts/bootstrap.sh's PACKAGES";
  }
  for (auto it = build.cbegin();
       std::regex_search(it, build.cend(), m, std::regex(R"(\nCOPY ([^ \n]+) )"));
       it = m.suffix().first) {
    EXPECT_TRUE(fs::exists(kRoot / m[1].str())) << m[1] << " does not exist";
  }
}

}  // namespace
}  // namespace streaminfer::test
