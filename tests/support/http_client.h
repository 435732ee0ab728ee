#pragma once
// A real HTTP client for the tests of the service (libcurl): one request, its status, headers
// and body. No retries, no redirects; a connection that fails gives status 0 and the reason.
#include <string>
#include <utility>
#include <vector>

namespace streaminfer::test {

struct HttpResponse {
  int status = 0;  // 0: no answer (error says why)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string error;
  std::string header(const std::string& name) const;
};

HttpResponse http_request(const std::string& method, const std::string& url,
                          const std::string& body = {},
                          const std::vector<std::string>& headers = {}, double timeout_s = 10);
inline HttpResponse http_get(const std::string& url, const std::vector<std::string>& headers = {}) {
  return http_request("GET", url, {}, headers);
}

}  // namespace streaminfer::test
