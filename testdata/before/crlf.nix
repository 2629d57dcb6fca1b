{
  inventory.services = {
    # CRLF endings, as checked out on Windows
    sshd.crlf = {
      roles.server.tags = [ "all" ];
    };
  };
}
