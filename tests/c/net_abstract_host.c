
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void) { struct sockaddr_un a = {0}; a.sun_family = AF_UNIX; memcpy(a.sun_path, "\0lind-host-secret", 17);
  int s = socket(AF_UNIX, SOCK_STREAM, 0); int r = connect(s, (void*)&a, sizeof(sa_family_t) + 17);
  printf("connect to host abstract: %s\n", r == 0 ? "CONNECTED (bad)" : "refused"); return r == 0; }
