#include "infer/weights_file.h"

#include "common/atomic_file.h"

#include <torch/nn/module.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "common/text.h"

namespace streaminfer {

namespace {

using NamedTensors = std::map<std::string, torch::Tensor>;

// The names a module must find in a file, in the module's order.
std::vector<std::pair<std::string, torch::Tensor>> module_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    tensors.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true))
    tensors.emplace_back(b.key(), b.value());
  return tensors;
}

// A dict of string -> tensor, as save_weights or Python's torch.save({name: tensor}) write it.
// Anything else (a TorchScript archive, another object) is not one: nullopt.
std::optional<NamedTensors> named_tensors_of(const torch::IValue& value) {
  if (!value.isGenericDict()) return std::nullopt;
  NamedTensors named;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) return std::nullopt;
    named[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return named;
}

Result<NamedTensors> read_tensors(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::error(
        fmt::format("weights file '{}' not found (check the --weights path)", path));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return Status::error(
        fmt::format("cannot read weights file '{}': {}", path, std::strerror(errno)));
  }
  // A pickled dict first; a TorchScript archive is a zip too, and pickle_load either throws on
  // its module classes or returns an object that is not a dict of tensors.
  try {
    if (auto named = named_tensors_of(torch::pickle_load(bytes))) return std::move(*named);
  } catch (const std::exception&) {
  }
  try {
    torch::jit::script::Module scripted = torch::jit::load(path, torch::kCPU);
    NamedTensors named;
    for (const auto& p : scripted.named_parameters(/*recurse=*/true)) named[p.name] = p.value;
    for (const auto& b : scripted.named_buffers(/*recurse=*/true)) named[b.name] = b.value;
    return named;
  } catch (const std::exception&) {
  }
  return Status::error(fmt::format(
      "cannot read weights file '{}': neither a weights file (streaminfer's, or PyTorch's "
      "torch.save of a dict of tensors) nor a TorchScript file (torch.jit.save)",
      path));
}

// "'a', 'b', 'c' and 2 more": the first few, so that the error stays one line.
std::string first_names(const std::vector<std::string>& names) {
  constexpr size_t kShown = 3;
  std::vector<std::string> shown(
      names.begin(), names.begin() + static_cast<std::ptrdiff_t>(std::min(names.size(), kShown)));
  std::string text = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text;
}

}  // namespace

Status save_weights(const torch::nn::Module& module, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : module_tensors(module)) {
    // Contiguous: the file holds exactly the tensor's elements, whatever layout the module uses.
    dict.insert(name, tensor.detach().contiguous());
  }
  std::vector<char> bytes;
  try {
    bytes = torch::pickle_save(dict);
  } catch (const std::exception& e) {
    return Status::error(
        fmt::format("cannot serialize weights for '{}': {}", path, first_line(e.what())));
  }
  // Whole or not at all: a stop while saving keeps the weights file that was there.
  return write_file_atomically(path, std::string_view(bytes.data(), bytes.size()), "weights file");
}

Status load_weights(torch::nn::Module& module, const std::string& path) {
  auto read = read_tensors(path);
  if (!read) return read.status();
  const NamedTensors& named = read.value();

  // Everything is checked before anything is copied, so a bad file leaves the module as it was.
  const auto targets = module_tensors(module);
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> expected;
  for (const auto& [name, tensor] : targets) {
    expected.insert(name);
    auto found = named.find(name);
    if (found == named.end()) {
      if (!name.ends_with("num_batches_tracked")) missing.push_back("'" + name + "'");
    } else if (found->second.sizes() != tensor.sizes()) {
      mismatched.push_back(fmt::format("'{}' ({} in the file, {} in the model)", name,
                                       fmt::join(found->second.sizes(), "x"),
                                       fmt::join(tensor.sizes(), "x")));
    }
  }
  for (const auto& [name, tensor] : named) {
    if (expected.count(name) == 0) unexpected.push_back("'" + name + "'");
  }
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back(fmt::format("missing {}", first_names(missing)));
    if (!mismatched.empty()) parts.push_back(fmt::format("shape of {}", first_names(mismatched)));
    if (!unexpected.empty()) parts.push_back(fmt::format("unexpected {}", first_names(unexpected)));
    return Status::error(
        fmt::format("weights file '{}' does not match the model ({}): was it saved from the same "
                    "architecture with the same number of classes?",
                    path, fmt::join(parts, "; ")));
  }

  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : targets) {
    auto found = named.find(name);
    if (found == named.end()) continue;  // num_batches_tracked
    // copy_ converts dtype and keeps the module's own layout (e.g. channels-last).
    torch::Tensor target = tensor;
    target.copy_(found->second);
  }
  return Status::ok();
}

Result<std::vector<int64_t>> weights_tensor_shape(const std::string& path,
                                                  const std::string& name) {
  auto named = read_tensors(path);
  if (!named) return named.status();
  auto found = named->find(name);
  if (found == named->end()) {
    return Status::error(fmt::format("weights file '{}' has no tensor '{}'", path, name));
  }
  return found->second.sizes().vec();
}

}  // namespace streaminfer
