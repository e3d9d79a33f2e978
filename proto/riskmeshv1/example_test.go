package riskmeshv1_test

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	riskmeshv1 "github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// A requester opens a stream with a catalog download request and bounds
// every response frame it reads by what that request can be answered with.
func ExampleMaxResponseSize() {
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogDownload{
		CatalogDownload: &riskmeshv1.CatalogDownloadRequest{
			Provider: "LenderBMSP", Category: "black", Period: 20261122,
			Offset: 0, MaxChunk: 64 << 10,
		},
	}}
	frame, err := proto.Marshal(req)
	if err != nil {
		panic(err)
	}
	fmt.Println("request fits the first-frame bound:", len(frame) <= riskmeshv1.MaxPeerRequestSize)
	fmt.Println("chunk data per frame:", riskmeshv1.ChunkSize(req.GetCatalogDownload().GetMaxChunk()))
	fmt.Println("largest response frame:", riskmeshv1.MaxResponseSize(req))
	// Output:
	// request fits the first-frame bound: true
	// chunk data per frame: 65536
	// largest response frame: 65613
}

// A responder refuses a request with a typed error the requester can act on.
func ExamplePeerError() {
	resp := &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{
		Code:     riskmeshv1.ErrorCode_ERROR_CODE_BATCH_TOO_LARGE,
		Message:  "batch of 70000 items",
		MaxItems: 65535,
	}}}
	frame, err := proto.Marshal(resp)
	if err != nil {
		panic(err)
	}

	var got riskmeshv1.PeerResponse
	if err := proto.Unmarshal(frame, &got); err != nil {
		panic(err)
	}
	if e := got.GetError(); e.GetCode() == riskmeshv1.ErrorCode_ERROR_CODE_BATCH_TOO_LARGE {
		fmt.Println("split into batches of at most", e.GetMaxItems())
	}
	// Output:
	// split into batches of at most 65535
}
