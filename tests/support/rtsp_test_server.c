// A real RTSP server for the tests, built on GStreamer's rtsp-server library: serves the H.264
// track of an MP4 clip at rtsp://127.0.0.1:PORT/MOUNT, at the clip's own frame rate, to every
// client that connects (each from the clip's start). Prints "ready" on stdout once it listens.
// Tests kill it (SIGKILL: the connection drops), freeze it (SIGSTOP: a stall without a close)
// and start it again on the same port.
//
// usage: rtsp_test_server PORT MOUNT CLIP.mp4
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PORT MOUNT CLIP.mp4\n", argv[0]);
    return 2;
  }
  gst_init(NULL, NULL);
  GMainLoop* loop = g_main_loop_new(NULL, FALSE);
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, argv[1]);

  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  // config-interval=-1 repeats SPS/PPS before every key frame, as cameras do, so a client that
  // joins mid-stream can decode from the next key frame.
  gchar* launch = g_strdup_printf(
      "( filesrc location=\"%s\" ! qtdemux ! rtph264pay name=pay0 pt=96 config-interval=-1 )",
      argv[3]);
  gst_rtsp_media_factory_set_launch(factory, launch);
  g_free(launch);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  gchar* path = g_strdup_printf("/%s", argv[2]);
  gst_rtsp_mount_points_add_factory(mounts, path, factory);
  g_free(path);
  g_object_unref(mounts);

  if (gst_rtsp_server_attach(server, NULL) == 0) {
    fprintf(stderr, "rtsp_test_server: cannot listen on 127.0.0.1:%s\n", argv[1]);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  g_main_loop_run(loop);
  return 0;
}
