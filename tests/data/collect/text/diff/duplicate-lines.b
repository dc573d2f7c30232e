# m h dom mon dow command
*/5 * * * * root /usr/bin/check
0 3 * * * root /usr/bin/backup
*/5 * * * * root /usr/bin/check
