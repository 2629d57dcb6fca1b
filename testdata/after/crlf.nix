{
  inventory.instances = {
    # CRLF endings, as checked out on Windows
    sshd-crlf = {
      module.name = "sshd";
      roles.server.tags = [ "all" ];
    };
  };
}
