#!/bin/sh
# ↓パイプ中でエラーが発生した場合処理途中で終了するよう設定する
set -eo pipefail

# ↓「serf agent」コマンドに与えるオプションを指定する
SERF_AGENT_OPT="-discover=container01"

# ↓「serf agent」コマンドを実行し、その出力は/var/log/serf.logファイルに格納させておく
mkdir -p /var/log
/usr/local/bin/serf agent $SERF_AGENT_OPT > /var/log/serf.log &
SERF_PID=$!

# ↓「docker run」コマンドの引数で与えられたコマンドを実行する
"$@"

# ↓SerfエージェントにSIGINTシグナルを送信して終了させる
test -n "$SERF_PID" && kill -s SIGINT $SERF_PID && sleep 3
