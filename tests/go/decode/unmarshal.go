package main

import "github.com/golang/protobuf/proto"

func unmarshal(raw []byte, message proto.Message) error { return proto.Unmarshal(raw, message) }
