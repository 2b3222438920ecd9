#!/bin/sh
# Writes tarmac(1) in roff to stdout from the binary's own --help texts, so
# the man page never drifts from the flags. Usage: gen-man.sh BINARY
set -eu
bin=$1
version=$("$bin" --version | sed 's/^tarmac version //')
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
esc() { sed -e 's/\\/\\e/g' -e "s/^'/\\\\(aq/" -e 's/^\./\\\&./' -e 's/-/\\-/g'; }
cat <<HEAD
.TH TARMAC 1 "$date" "tarmac $version" "User Commands"
.SH NAME
tarmac \\- mobile\\-app backend in one binary, with PocketBase's REST API
.SH SYNOPSIS
.B tarmac serve
[\\fIflags\\fR]
.br
.B tarmac superuser upsert
\\fIEMAIL PASSWORD\\fR [\\fB\\-\\-dir\\fR=\\fIDIR\\fR]
.br
.B tarmac superuser delete
\\fIEMAIL\\fR [\\fB\\-\\-dir\\fR=\\fIDIR\\fR]
.br
.B tarmac gen types
\\fB\\-\\-lang\\fR=\\fIts|dart\\fR [\\fB\\-\\-out\\fR=\\fIFILE\\fR] [\\fB\\-\\-dir\\fR=\\fIDIR\\fR]
.br
.B tarmac backup
\\fIcreate\\fR [\\fINAME\\fR] | \\fIlist\\fR | \\fIrestore NAME\\fR [\\fB\\-\\-dir\\fR=\\fIDIR\\fR] [\\fB\\-\\-db\\fR=\\fIURL\\fR]
.br
.B tarmac \\-\\-version
.SH DESCRIPTION
HEAD
"$bin" --help | sed -n '1p' | sed 's/^tarmac [^ ]* -- //' | esc
cat <<'MID'
.PP
Records, auth, files and realtime over HTTP/1.1, stored in SQLite in the
data directory. The API is PocketBase's, so its JS and Dart SDKs work
unchanged.
.SH COMMANDS
.nf
MID
"$bin" --help | sed -n '/^Usage:/,$p' | sed '1d' | esc
echo '.fi'
echo '.SH SERVE FLAGS'
echo 'Every flag may also be given as an environment variable, named after'
echo 'the flag in upper case with TARMAC_ in front and \- as _; a flag on the'
echo 'command line wins.'
"$bin" serve --help | sed -n '/^Flags:/,$p' | sed '1d' | while IFS= read -r line; do
    flag=$(printf '%s\n' "$line" | sed -E 's/^ +(--[^ ]+) +.*/\1/')
    text=$(printf '%s\n' "$line" | sed -E 's/^ +--[^ ]+ +//')
    echo '.TP'
    printf '\\fB%s\\fR\n' "$(printf '%s\n' "$flag" | esc)"
    printf '%s\n' "$text" | esc
done
echo '.SH SUPERUSER'
echo '.nf'
"$bin" superuser --help 2>&1 | esc
echo '.fi'
echo '.SH GEN'
echo '.nf'
"$bin" gen --help 2>&1 | esc
echo '.fi'
echo '.SH BACKUP'
echo '.nf'
"$bin" backup --help 2>&1 | esc
echo '.fi'
cat <<'TAIL'
.SH FILES
.TP
.I /etc/default/tarmac
Settings of the packaged service (TARMAC_* variables).
.TP
.I /var/lib/tarmac
The service's data directory: data.db, storage/ and backups/.
.SH EXIT STATUS
0 on success, 1 on a runtime failure, 2 on a usage error.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1)
TAIL
