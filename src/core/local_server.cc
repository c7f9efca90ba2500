#include "core/local_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace hadr
