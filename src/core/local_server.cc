#include "core/local_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hadr {

Result<int> pick_free_loopback_port() {
  const int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (socket_fd < 0) return internal_error(std::string("socket(): ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  const bool bound = ::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     ::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int saved_errno = errno;
  ::close(socket_fd);
  if (!bound) return unavailable(std::string("cannot find a free loopback port: ") + std::strerror(saved_errno));
  return static_cast<int>(ntohs(address.sin_port));
}

Result<std::string> make_temporary_directory(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") + "/" + std::string(prefix) +
                        "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return unavailable("cannot create a temporary directory from '" + pattern + "': " + std::strerror(errno));
  }
  return pattern;
}

Status make_test_certificates(const std::string& dir) {
  const std::string script_path = dir + "/make-certificates.sh";
  const std::string script =
      "set -e\ncd '" + dir + "'\n"
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=hadr-test-ca\n"
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost\n"
      "printf 'subjectAltName=DNS:localhost\\n' > server.ext\n"
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 "
      "-extfile server.ext\n";
  FILE* file = std::fopen(script_path.c_str(), "w");
  if (file == nullptr) return unavailable("cannot write " + script_path + ": " + std::strerror(errno));
  const bool written = std::fwrite(script.data(), 1, script.size(), file) == script.size();
  if (std::fclose(file) != 0 || !written) return unavailable("cannot write " + script_path);
  const std::string command = "/bin/sh '" + script_path + "' > '" + dir + "/openssl.log' 2>&1";
  if (std::system(command.c_str()) != 0) {
    return failed_precondition("openssl could not make the test certificates (apt-get install -y openssl); see " + dir +
                               "/openssl.log");
  }
  return ok_status();
}

}  // namespace hadr
