# sshd config
Port 22
AddressFamily any
ListenAddress 0.0.0.0

PermitRootLogin yes
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes

PrintMotd no
AcceptEnv LANG LC_*
AllowUsers deploy
Subsystem sftp /usr/lib/openssh/sftp-server
