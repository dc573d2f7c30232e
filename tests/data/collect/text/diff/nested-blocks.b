server {
    listen 80;
    location / {
        root /srv;
    }
    location /api {
        proxy_pass http://127.0.0.1:8080;
    }
}
